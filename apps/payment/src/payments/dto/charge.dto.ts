import { IsUUID } from 'class-validator';
import { AccountAmountInput } from './account-amount.dto';

/** Input of `charge` (place-order step charge). */
export class ChargeInput extends AccountAmountInput {
  @IsUUID()
  orderId: string;
}
