import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard';

/** API-key authentication and roles on every coordinator route (see api-key.guard.ts). */
@Module({ providers: [{ provide: APP_GUARD, useClass: ApiKeyGuard }] })
export class AuthModule {}
