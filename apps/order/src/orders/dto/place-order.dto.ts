import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, Length, Max, Min } from 'class-validator';

/** An order as a customer places it: the body of POST /api/v1/orders, and the place-order input. */
export class PlaceOrderDto {
  @ApiProperty({ example: 'ada', minLength: 1, maxLength: 200 })
  @IsString()
  @Length(1, 200)
  customer: string;

  @ApiProperty({ example: 'SKU-1', minLength: 1, maxLength: 64 })
  @IsString()
  @Length(1, 64)
  sku: string;

  @ApiProperty({ type: 'integer', example: 2, minimum: 1, maximum: 1_000_000 })
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  qty: number;

  @ApiProperty({ type: 'integer', example: 3998, minimum: 1, description: 'Total in cents' })
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  amount: number;

  @ApiProperty({ example: 'acc-ada', minLength: 1, maxLength: 64, description: 'The payment account to charge' })
  @IsString()
  @Length(1, 64)
  accountId: string;
}
