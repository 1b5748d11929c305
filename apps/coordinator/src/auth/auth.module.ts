import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard';
import { AuthController } from './auth.controller';

/** API-key authentication and roles on every coordinator route (see api-key.guard.ts). */
@Module({ controllers: [AuthController], providers: [{ provide: APP_GUARD, useClass: ApiKeyGuard }] })
export class AuthModule {}
