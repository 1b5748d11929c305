import { ApiProperty } from '@nestjs/swagger';

export class Account {
  @ApiProperty({ example: 'acc-ada' })
  id: string;

  @ApiProperty({ example: 'Ada Lovelace' })
  owner: string;

  @ApiProperty({ type: 'integer', example: 100000, description: 'In cents' })
  balance: number;

  @ApiProperty({
    type: 'integer',
    example: 0,
    description: 'In cents: the part of the balance held by transfers tried but not yet confirmed or cancelled; only balance - frozen can be spent',
  })
  frozen: number;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty()
  updatedAt: Date;
}
