import { Controller, Get, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Order } from './domain/order';
import { OrderList, QueryOrdersDto } from './dto/query-orders.dto';
import { OrdersService } from './orders.service';

/** Read-only: orders change only through the place-order saga's commands. */
@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Get()
  @ApiOperation({ summary: 'Orders, newest first' })
  @ApiOkResponse({ type: OrderList })
  async list(@Query() query: QueryOrdersDto): Promise<OrderList> {
    return { items: await this.orders.list(query) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One order' })
  @ApiOkResponse({ type: Order })
  @ApiNotFoundResponse({ description: 'ORDER_NOT_FOUND' })
  get(@Param('id', new ParseUUIDPipe()) id: string): Promise<Order> {
    return this.orders.get(id);
  }
}
