import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsString, Max, Min } from 'class-validator';

/** Versions are PostgreSQL integers: a larger number must be a 400, not a database error. */
const MAX_VERSION = 2_147_483_647;

export class DefinitionNameParamsDto {
  @ApiProperty({ example: 'place-order' })
  @IsString()
  name: string;
}

export class DefinitionVersionParamsDto extends DefinitionNameParamsDto {
  @ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_VERSION, example: 1 })
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_VERSION)
  version: number;
}
