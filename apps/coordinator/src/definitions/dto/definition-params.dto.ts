import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsString, Max, Min } from 'class-validator';

/** Versions are PostgreSQL integers: a larger number must be a 400, not a database error. */
const MAX_VERSION = 2_147_483_647;

/** A version number from the path or the query. */
const IsVersion = (example: number, description?: string) =>
  applyDecorators(
    ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_VERSION, example, description }),
    Type(() => Number),
    IsInt(),
    Min(1),
    Max(MAX_VERSION),
  );

export class DefinitionNameParamsDto {
  @ApiProperty({ example: 'place-order' })
  @IsString()
  name: string;
}

export class DefinitionVersionParamsDto extends DefinitionNameParamsDto {
  @IsVersion(1)
  version: number;
}

export class DiffQueryDto {
  @IsVersion(1, 'The version compared from')
  from: number;

  @IsVersion(2, 'The version compared to')
  to: number;
}
