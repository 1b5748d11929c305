import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';
import { ListQuery } from '@ordo/platform';
import { Account } from '../domain/account';
import { Charge } from '../domain/charge';

export class QueryChargesDto extends ListQuery {
  @ApiPropertyOptional({ format: 'uuid', description: "Only this order's charges" })
  @IsOptional()
  @IsUUID()
  orderId?: string;
}

export class AccountList {
  @ApiProperty({ type: [Account] })
  items: Account[];
}

export class ChargeList {
  @ApiProperty({ type: [Charge] })
  items: Charge[];
}
