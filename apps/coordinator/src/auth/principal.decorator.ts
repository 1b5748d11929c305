import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { Principal } from './api-keys';

export const PRINCIPAL = Symbol('ordo:principal');

/** The authenticated caller's name: who the history records for an operator action. */
export const Actor = createParamDecorator((_data: unknown, ctx: ExecutionContext): string => {
  const request = ctx.switchToHttp().getRequest<{ [PRINCIPAL]?: Principal }>();
  return request[PRINCIPAL]!.name;
});
