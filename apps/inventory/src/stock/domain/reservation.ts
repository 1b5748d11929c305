import { ApiProperty } from '@nestjs/swagger';

export const RESERVATION_STATUSES = ['active', 'released'] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

/** Stock held for an order by one transaction step; released when that step is compensated. */
export class Reservation {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  txId: string;

  @ApiProperty({ example: 'reserve-stock' })
  stepId: string;

  @ApiProperty({ format: 'uuid' })
  orderId: string;

  @ApiProperty({ example: 'SKU-1' })
  sku: string;

  @ApiProperty({ type: 'integer', example: 2 })
  qty: number;

  @ApiProperty({ enum: RESERVATION_STATUSES })
  status: ReservationStatus;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty()
  updatedAt: Date;
}
