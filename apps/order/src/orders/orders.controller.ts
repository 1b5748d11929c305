import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Order } from './domain/order';
import { PlaceOrderDto } from './dto/place-order.dto';
import { OrderList, QueryOrdersDto } from './dto/query-orders.dto';
import { OrdersService } from './orders.service';

/** Orders are placed here; after that they change only through the place-order saga's commands. */
@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @ApiOperation({
    summary: 'Place an order and start its place-order saga',
    description:
      'The order and the start of its saga commit together in this service\'s database; the saga is then started on the coordinator ' +
      'exactly once, even if the service restarts in between. The order is pending, with no txId, until the saga takes it up; ' +
      'it ends confirmed or cancelled.',
  })
  @ApiCreatedResponse({ type: Order, description: 'Placed; its saga starts right after' })
  @ApiBadRequestResponse({ description: 'VALIDATION_FAILED, naming every problem' })
  place(@Body() body: PlaceOrderDto): Promise<Order> {
    return this.orders.place(body);
  }

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
