import { IsInt, IsString, IsUUID, Length, Max, Min } from 'class-validator';

/** Input of `reserve` (place-order step reserve-stock). */
export class ReserveStockInput {
  @IsString()
  @Length(1, 64)
  sku: string;

  @IsInt()
  @Min(1)
  @Max(1_000_000)
  qty: number;

  @IsUUID()
  orderId: string;
}
