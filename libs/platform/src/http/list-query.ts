import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** The `limit` query parameter of a list endpoint; list query DTOs extend this. */
export class ListQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50, description: 'Most items returned' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit: number = 50;
}
