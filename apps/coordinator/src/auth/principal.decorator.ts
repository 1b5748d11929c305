import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { Principal } from '../config/api-keys';

export const PRINCIPAL = Symbol('ordo:principal');

const principalOf = (ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest<{ [PRINCIPAL]?: Principal }>()[PRINCIPAL]!;

/** The authenticated caller's name: who the history records for an operator action. */
export const Actor = createParamDecorator((_data: unknown, ctx: ExecutionContext): string => principalOf(ctx).name);

/** The authenticated caller: name and role. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => principalOf(ctx));
