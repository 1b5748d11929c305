import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHmac, timingSafeEqual } from 'crypto';
import { DataSource } from 'typeorm';
import { Phase, Reply } from '@ordo/protocol';
import { CoordinatorConfig } from '../config/coordinator.config';

/** What a token is bound to: one attempt of one step's phase. */
export interface AttemptId {
  txId: string;
  stepId: string;
  phase: Phase;
  attempt: number;
}

/** 128 bits of the HMAC, in base64url. */
export const TOKEN_LENGTH = 22;

/**
 * Reply tokens (protocol version 2): a command carries HMAC(secret, its attempt), and a reply
 * settles its step only if it echoes that token. Whoever can write to the reply topic without
 * having received the command (another participant, a stray client) cannot make one, so a
 * forged reply settles nothing, and a reply cannot be passed off as one to another attempt.
 * Stateless: nothing is stored per command, and any instance checks what another signed (the
 * secret is the database's, made by a migration).
 */
@Injectable()
export class ReplyTokens implements OnModuleInit {
  private secret = Buffer.alloc(0);
  private readonly required: boolean;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    config: CoordinatorConfig,
  ) {
    this.required = config.REPLY_TOKENS === 'required';
  }

  async onModuleInit() {
    const rows = await this.dataSource.query<{ value: string }[]>(`SELECT value FROM coordinator_secrets WHERE name = 'reply-token'`);
    if (rows.length !== 1) throw new Error("no reply-token secret in coordinator_secrets: run the coordinator's migrations");
    this.secret = Buffer.from(rows[0].value);
  }

  sign({ txId, stepId, phase, attempt }: AttemptId): string {
    return createHmac('sha256', this.secret).update(`${txId}\n${stepId}\n${phase}\n${attempt}`).digest('base64url').slice(0, TOKEN_LENGTH);
  }

  /** Why `reply` may not settle anything, or undefined when it may. */
  problem(reply: Reply): string | undefined {
    if (reply.token === undefined) {
      return this.required ? "no token: replies must echo their command's token (protocol version 2; REPLY_TOKENS=required)" : undefined;
    }
    const expected = Buffer.from(this.sign(reply));
    const given = Buffer.from(reply.token);
    return given.length === expected.length && timingSafeEqual(given, expected) ? undefined : 'token does not match the command of this attempt';
  }
}
