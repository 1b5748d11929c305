import { IsInt, IsString, IsUUID, Length, Max, Min } from 'class-validator';

/** Input of `create` (place-order step create-order): the transaction input. */
export class CreateOrderInput {
  @IsString()
  @Length(1, 200)
  customer: string;

  @IsString()
  @Length(1, 64)
  sku: string;

  @IsInt()
  @Min(1)
  @Max(1_000_000)
  qty: number;

  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  amount: number;

  @IsString()
  @Length(1, 64)
  accountId: string;
}

/** Input of `confirm` (place-order step confirm-order). */
export class ConfirmOrderInput {
  @IsUUID()
  orderId: string;
}
