import { ApiProperty } from '@nestjs/swagger';

export class Product {
  @ApiProperty({ example: 'SKU-1' })
  sku: string;

  @ApiProperty({ example: 'Espresso beans, 1 kg' })
  name: string;

  @ApiProperty({ type: 'integer', example: 100, description: 'On hand and not reserved' })
  stock: number;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty()
  updatedAt: Date;
}
