import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';
import { ListQuery } from '@ordo/platform';
import { Product } from '../domain/product';
import { Reservation } from '../domain/reservation';

export class QueryReservationsDto extends ListQuery {
  @ApiPropertyOptional({ format: 'uuid', description: "Only this order's reservations" })
  @IsOptional()
  @IsUUID()
  orderId?: string;
}

export class ProductList {
  @ApiProperty({ type: [Product] })
  items: Product[];
}

export class ReservationList {
  @ApiProperty({ type: [Reservation] })
  items: Reservation[];
}
