import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { ListQuery } from '@ordo/platform';
import { Order, ORDER_STATUSES, OrderStatus } from '../domain/order';

export class QueryOrdersDto extends ListQuery {
  @ApiPropertyOptional({ enum: ORDER_STATUSES })
  @IsOptional()
  @IsIn(ORDER_STATUSES)
  status?: OrderStatus;
}

export class OrderList {
  @ApiProperty({ type: [Order] })
  items: Order[];
}
