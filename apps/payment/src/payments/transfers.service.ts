import { Injectable } from '@nestjs/common';
import { Cancel, Confirm, HandlerContext, parseInput, Try } from '@ordo/participant';
import { JsonObject } from '@ordo/protocol';
import { debitRefusal, unknownAccount } from './domain/refusals';
import { HoldDirection, SettledStatus, TransferHold } from './domain/transfer-hold';
import { AccountAmountInput } from './dto/account-amount.dto';
import { PaymentsRepository } from './infrastructure/persistence/payments.repository';
import { TransfersRepository } from './infrastructure/persistence/transfers.repository';

/**
 * The TCC transfer (apps/payment/transfer.tcc.json): `withdraw` on the source account and
 * `deposit` on the destination, each tried, then confirmed or cancelled. Each handler runs
 * behind the participant's barrier, in its local transaction: every phase applies once per
 * step, and a cancel whose try never ran or refused never gets here. Confirm and cancel
 * act only on a hold still `tried`, so they cannot settle one twice either way.
 */
@Injectable()
export class TransfersService {
  constructor(
    private readonly transfers: TransfersRepository,
    private readonly payments: PaymentsRepository,
  ) {}

  /** Freezes the amount on the source account, or refuses (changing nothing) when it is not available. */
  @Try('withdraw')
  async tryWithdraw(input: JsonObject, { command, manager }: HandlerContext): Promise<{ holdId: string }> {
    const { accountId, amount } = parseInput(AccountAmountInput, input);
    const hold = await this.transfers.holdDebit(manager, { txId: command.txId, stepId: command.stepId, accountId, amount });
    if (!hold) throw debitRefusal(accountId, await this.payments.findAccount(accountId, manager), amount);
    return { holdId: hold.id };
  }

  /** Moves the frozen amount out of the source account. */
  @Confirm('withdraw')
  confirmWithdraw(_input: JsonObject, context: HandlerContext): Promise<void> {
    return this.settle(context, 'debit', 'confirmed');
  }

  /** Releases the frozen amount. */
  @Cancel('withdraw')
  cancelWithdraw(_input: JsonObject, context: HandlerContext): Promise<void> {
    return this.settle(context, 'debit', 'cancelled');
  }

  /** Records the credit to come; refuses when the destination account does not exist. */
  @Try('deposit')
  async tryDeposit(input: JsonObject, { command, manager }: HandlerContext): Promise<{ holdId: string }> {
    const { accountId, amount } = parseInput(AccountAmountInput, input);
    const hold = await this.transfers.holdCredit(manager, { txId: command.txId, stepId: command.stepId, accountId, amount });
    if (!hold) throw unknownAccount(accountId);
    return { holdId: hold.id };
  }

  /** Adds the amount to the destination account. */
  @Confirm('deposit')
  confirmDeposit(_input: JsonObject, context: HandlerContext): Promise<void> {
    return this.settle(context, 'credit', 'confirmed');
  }

  /** Drops the credit: the money never reached the account. */
  @Cancel('deposit')
  cancelDeposit(_input: JsonObject, context: HandlerContext): Promise<void> {
    return this.settle(context, 'credit', 'cancelled');
  }

  listTransfers(filter: { txId?: string; accountId?: string; limit: number }): Promise<TransferHold[]> {
    return this.transfers.listHolds(filter);
  }

  // The hold, not the command's input, says what to settle: the try recorded it.
  private settle({ command, manager }: HandlerContext, direction: HoldDirection, status: SettledStatus): Promise<void> {
    return this.transfers.settle(manager, command.txId, command.stepId, direction, status);
  }
}
