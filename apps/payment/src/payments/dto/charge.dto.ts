import { IsInt, IsString, IsUUID, Length, Max, Min } from 'class-validator';

/** Input of `charge` (place-order step charge). */
export class ChargeInput {
  @IsString()
  @Length(1, 64)
  accountId: string;

  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  amount: number;

  @IsUUID()
  orderId: string;
}
