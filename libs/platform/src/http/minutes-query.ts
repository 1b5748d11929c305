import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** A query parameter of whole minutes, 1 to a day (1440), optional with the default `fallback`. */
export const MinutesParam = (fallback: number, description: string) =>
  applyDecorators(
    ApiPropertyOptional({ example: fallback, minimum: 1, maximum: 1440, default: fallback, description }),
    IsOptional(),
    Type(() => Number),
    IsInt(),
    Min(1),
    Max(1440),
  );
