import { HttpStatus, Injectable } from '@nestjs/common';
import { Compensate, Execute, HandlerContext, parseInput, Prepare } from '@ordo/participant';
import { ApiError } from '@ordo/platform';
import { JsonObject } from '@ordo/protocol';
import { Account } from './domain/account';
import { Charge } from './domain/charge';
import { debitRefusal } from './domain/refusals';
import { ChargeInput } from './dto/charge.dto';
import { PaymentsRepository } from './infrastructure/persistence/payments.repository';

/**
 * Charges and refunds for the place-order saga (the TCC transfer: TransfersService). Each
 * handler runs behind the participant's barrier, in its local transaction, so it applies
 * once per transaction step.
 */
@Injectable()
export class PaymentsService {
  constructor(private readonly payments: PaymentsRepository) {}

  /**
   * Debits the account for the order, or refuses (changing nothing) when the available
   * balance is short. As a 2PC prepare, the debit is held in a PostgreSQL prepared
   * transaction until the decision commits or rolls it back.
   */
  @Execute('charge')
  @Prepare('charge', { preparedTransaction: true })
  async charge(input: JsonObject, { command, manager }: HandlerContext): Promise<{ chargeId: string }> {
    const { accountId, amount, orderId } = parseInput(ChargeInput, input);
    const charge = await this.payments.charge(manager, { txId: command.txId, stepId: command.stepId, accountId, orderId, amount });
    if (!charge) throw debitRefusal(accountId, await this.payments.findAccount(accountId, manager), amount);
    return { chargeId: charge.id };
  }

  /** Undoes `charge`: refunds the step's charge to its account, once. */
  @Compensate('refund')
  async refund(_input: JsonObject, { command, manager }: HandlerContext): Promise<void> {
    await this.payments.refund(manager, command.txId, command.stepId);
  }

  listAccounts(limit: number): Promise<Account[]> {
    return this.payments.listAccounts(limit);
  }

  async getAccount(id: string): Promise<Account> {
    const account = await this.payments.findAccount(id);
    if (!account) throw new ApiError(HttpStatus.NOT_FOUND, 'ACCOUNT_NOT_FOUND', `no account ${id}`);
    return account;
  }

  listCharges(filter: { orderId?: string; limit: number }): Promise<Charge[]> {
    return this.payments.listCharges(filter);
  }
}
