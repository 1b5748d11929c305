import { ApiProperty } from '@nestjs/swagger';

export class Account {
  @ApiProperty({ example: 'acc-ada' })
  id: string;

  @ApiProperty({ example: 'Ada Lovelace' })
  owner: string;

  @ApiProperty({ type: 'integer', example: 100000, description: 'In cents' })
  balance: number;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty()
  updatedAt: Date;
}
