import fastifyStatic from '@fastify/static';
import { Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance } from 'fastify';
import { join } from 'path';

/**
 * The web dashboard: static files built by `vite build` (dashboard/) into dist/dashboard,
 * served at `/` (its own routes are in the URL's fragment, so no path needs index.html but
 * `/`). They hold no data; every call they make goes to the API with the key the user gives.
 * Any other path is the API's 404, in its error shape.
 */
@Module({})
export class DashboardModule implements OnModuleInit {
  constructor(private readonly host: HttpAdapterHost) {}

  onModuleInit() {
    void this.host.httpAdapter.getInstance<FastifyInstance>().register(fastifyStatic, {
      // From dist/apps/coordinator/src/dashboard.
      root: join(__dirname, '..', '..', '..', '..', 'dashboard'),
      // One route per file of the build, none for paths that are not files.
      wildcard: false,
    });
  }
}
