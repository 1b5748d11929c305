import { Body, Controller, Get, Headers, HttpStatus, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiError } from '@ordo/platform';
import { Order } from './domain/order';
import { PlaceOrderDto } from './dto/place-order.dto';
import { OrderList, QueryOrdersDto } from './dto/query-orders.dto';
import { OrdersService } from './orders.service';

const MAX_IDEMPOTENCY_KEY = 200;

/** Orders are placed here; after that they change only through the place-order saga's commands. */
@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @ApiOperation({
    summary: 'Place an order and start its place-order saga',
    description:
      "The order and the start of its saga commit together in this service's database; the saga is then started on the coordinator " +
      'exactly once, even if the service restarts in between. The order is pending, with no txId, until the saga takes it up; ' +
      'it ends confirmed or cancelled.',
  })
  @ApiCreatedResponse({ type: Order, description: 'Placed; its saga starts right after' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Up to 200 characters: a retry with the same key answers with the order the first try placed, and places nothing',
  })
  @ApiBadRequestResponse({ description: 'VALIDATION_FAILED, naming every problem; INVALID_IDEMPOTENCY_KEY' })
  @ApiConflictResponse({ description: 'IDEMPOTENCY_KEY_REUSED: the key placed an order for other items' })
  place(@Body() body: PlaceOrderDto, @Headers('idempotency-key') idempotencyKey?: string): Promise<Order> {
    if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY)) {
      throw new ApiError(HttpStatus.BAD_REQUEST, 'INVALID_IDEMPOTENCY_KEY', `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY} characters`);
    }
    return this.orders.place(body, idempotencyKey ?? null);
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
