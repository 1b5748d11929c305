import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length } from 'class-validator';
import { ListQuery } from '@ordo/platform';
import { TransferHold } from '../domain/transfer-hold';

export class QueryTransfersDto extends ListQuery {
  @ApiPropertyOptional({ description: "Only this transaction's holds" })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  txId?: string;

  @ApiPropertyOptional({ description: "Only this account's holds" })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  accountId?: string;
}

export class TransferHoldList {
  @ApiProperty({ type: [TransferHold] })
  items: TransferHold[];
}
