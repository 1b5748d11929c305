import { Injectable } from '@nestjs/common';
import { BusinessFailure, Compensate, Execute, HandlerContext } from '@ordo/participant';
import { JsonObject } from '@ordo/protocol';

/**
 * The shipping service's part in a checkout saga. Every write goes through
 * `context.manager`: it commits together with the SDK's barrier row, so a command delivered
 * twice books once, and a cancel that arrives before its booking cancels nothing twice.
 */
@Injectable()
export class ShipmentHandlers {
  @Execute('book')
  async book(input: JsonObject, { command, manager }: HandlerContext): Promise<JsonObject> {
    if (typeof input.parcel !== 'string') throw new BusinessFailure('INVALID_INPUT', 'parcel must be a string');
    // Demo: a slow courier, long enough to abort the saga meanwhile.
    if (input.parcel.startsWith('slow')) await new Promise((resolve) => setTimeout(resolve, 3000));
    await manager.query(`INSERT INTO shipments (tx_id, parcel, status) VALUES ($1, $2, 'booked')`, [command.txId, input.parcel]);
    return { shipmentId: command.txId };
  }

  @Compensate('cancel')
  async cancel(input: JsonObject, { command, manager }: HandlerContext): Promise<void> {
    // Demo: a courier whose cancellations are down. The error is transient, so the
    // coordinator retries, then marks the transaction failed for an operator.
    if (parcelOf(input).includes('no-cancel')) throw new Error('the courier cannot cancel bookings right now');
    await manager.query(`UPDATE shipments SET status = 'cancelled', updated_at = now() WHERE tx_id = $1`, [command.txId]);
  }

  @Execute('label')
  async label(input: JsonObject, { command, manager }: HandlerContext): Promise<JsonObject> {
    // A refusal is final: the coordinator does not retry it and rolls the saga back.
    if (parcelOf(input).startsWith('oversized')) throw new BusinessFailure('TOO_LARGE', 'no courier takes this parcel');
    await manager.query(`UPDATE shipments SET status = 'labelled', updated_at = now() WHERE tx_id = $1`, [command.txId]);
    return { label: `LBL-${command.txId.slice(0, 8)}` };
  }
}

/** The parcel's description; '' when the input has none (the booking refused such input). */
const parcelOf = (input: JsonObject): string => (typeof input.parcel === 'string' ? input.parcel : '');
