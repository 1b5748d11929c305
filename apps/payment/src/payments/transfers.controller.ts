import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { QueryTransfersDto, TransferHoldList } from './dto/query-transfers.dto';
import { TransfersService } from './transfers.service';

/** Read-only: holds change only through the transfer TCC's commands. */
@ApiTags('transfers')
@Controller()
export class TransfersController {
  constructor(private readonly transfers: TransfersService) {}

  @Get('transfers')
  @ApiOperation({ summary: 'Transfer holds (one per transfer step), newest first' })
  @ApiOkResponse({ type: TransferHoldList })
  async listTransfers(@Query() query: QueryTransfersDto): Promise<TransferHoldList> {
    return { items: await this.transfers.listTransfers(query) };
  }
}
