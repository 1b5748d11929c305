import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { NULLABLE_STRING } from '@ordo/platform';
import { ReplyError } from '@ordo/protocol';
import { Span, Timeline, TimelineMark, TimelineRow } from '../../engine';
import { ReplyErrorView } from './transaction-views.dto';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export class TimelineSpanView {
  @ApiProperty({ enum: ['attempt', 'backoff', 'hold'], description: 'A command out (dispatch to answer), a retry backoff, or a hold' })
  kind: Span['kind'];
  @ApiPropertyOptional({ example: 2, description: 'attempt: its number; backoff: the attempt it waits to send' }) attempt?: number;
  @ApiProperty({ example: '2026-11-21T10:00:01.000Z' }) start: string;
  @ApiProperty({ ...NULLABLE_STRING, example: '2026-11-21T10:00:01.040Z', description: 'null: still going' }) end: string | null;
  @ApiPropertyOptional({
    enum: ['success', 'failure', 'retry', 'timeout'],
    nullable: true,
    description: 'attempt: how it ended (a reply, or its timeout); null while no answer came',
  })
  outcome?: string | null;
  @ApiPropertyOptional({ type: ReplyErrorView }) error?: ReplyError;
  @ApiPropertyOptional({ example: 'circuit_open', description: 'hold: why the command was held back' }) reason?: string;

  static of(span: Span): TimelineSpanView {
    const times = { start: iso(span.start), end: isoOrNull(span.end) };
    switch (span.kind) {
      case 'attempt':
        return { kind: span.kind, attempt: span.attempt, ...times, outcome: span.outcome, ...(span.error ? { error: span.error } : {}) };
      case 'backoff':
        return { kind: span.kind, attempt: span.attempt, ...times };
      case 'hold':
        return { kind: span.kind, ...times, reason: span.reason };
    }
  }
}

export class TimelineRowView {
  @ApiProperty({ example: 'charge' }) stepId: string;
  @ApiProperty({ example: 'execute' }) phase: string;
  @ApiProperty({ type: [TimelineSpanView], description: 'Oldest first' }) spans: TimelineSpanView[];

  static of(row: TimelineRow): TimelineRowView {
    return { stepId: row.stepId, phase: row.phase, spans: row.spans.map(TimelineSpanView.of) };
  }
}

export class TimelineMarkView {
  @ApiProperty({ example: '2026-11-21T10:00:01.300Z' }) at: string;
  @ApiProperty({ example: 'transaction.status_changed', description: 'The history event' }) type: string;
  @ApiPropertyOptional({ example: 'charge' }) stepId?: string;
  @ApiPropertyOptional({ example: 'completed', description: 'The status reached, or the decision taken' }) detail?: string;

  static of(mark: TimelineMark): TimelineMarkView {
    return { ...mark, at: iso(mark.at) };
  }
}

export class TimelineView {
  @ApiProperty({ ...NULLABLE_STRING, example: '2026-11-21T10:00:01.000Z' }) start: string | null;
  @ApiProperty({ ...NULLABLE_STRING, example: '2026-11-21T10:00:01.300Z', description: 'When it ended; null while it runs' })
  end: string | null;
  @ApiProperty({ type: [TimelineRowView], description: 'One row per step phase (a compensation has its own), in the order they began' })
  rows: TimelineRowView[];
  @ApiProperty({ type: [TimelineMarkView], description: 'The start, status changes, decisions, pauses and operator actions' })
  marks: TimelineMarkView[];
  @ApiProperty({ example: false, description: 'Only the first TIMELINE_MAX_EVENTS history events were read' }) truncated: boolean;

  static of(timeline: Timeline, truncated: boolean): TimelineView {
    return {
      start: isoOrNull(timeline.start),
      end: isoOrNull(timeline.end),
      rows: timeline.rows.map(TimelineRowView.of),
      marks: timeline.marks.map(TimelineMarkView.of),
      truncated,
    };
  }
}
