import { IsInt, IsString, Length, Max, Min } from 'class-validator';

/** An amount of money on one account: the input of the transfer's `withdraw` and `deposit`. */
export class AccountAmountInput {
  @IsString()
  @Length(1, 64)
  accountId: string;

  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  amount: number;
}
