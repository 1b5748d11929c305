import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ListQuery } from '@ordo/platform';
import { Account } from './domain/account';
import { AccountList, ChargeList, QueryChargesDto } from './dto/query-payments.dto';
import { PaymentsService } from './payments.service';

/** Read-only: balances and charges change only through the commands of the place-order saga and the transfer TCC. */
@ApiTags('payments')
@Controller()
export class PaymentsController {
  constructor(private readonly payments: PaymentsService) {}

  @Get('accounts')
  @ApiOperation({ summary: 'Accounts with their balance, by id' })
  @ApiOkResponse({ type: AccountList })
  async listAccounts(@Query() query: ListQuery): Promise<AccountList> {
    return { items: await this.payments.listAccounts(query.limit) };
  }

  @Get('accounts/:id')
  @ApiOperation({ summary: 'One account' })
  @ApiOkResponse({ type: Account })
  @ApiNotFoundResponse({ description: 'ACCOUNT_NOT_FOUND' })
  getAccount(@Param('id') id: string): Promise<Account> {
    return this.payments.getAccount(id);
  }

  @Get('charges')
  @ApiOperation({ summary: 'Charges, newest first' })
  @ApiOkResponse({ type: ChargeList })
  async listCharges(@Query() query: QueryChargesDto): Promise<ChargeList> {
    return { items: await this.payments.listCharges(query) };
  }
}
