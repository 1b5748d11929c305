import { Module } from '@nestjs/common';
import { ServeStaticModule } from '@nestjs/serve-static';
import { join } from 'path';

/**
 * The web dashboard: static files built by `vite build` (dashboard/) into dist/dashboard,
 * served at `/` with index.html for the app's own routes. They hold no data; every call
 * they make goes to the API with the key the user gives.
 */
@Module({
  imports: [
    ServeStaticModule.forRoot({
      // From dist/apps/coordinator/src/dashboard.
      rootPath: join(__dirname, '..', '..', '..', '..', 'dashboard'),
      exclude: ['/api/{*rest}', '/metrics'],
    }),
  ],
})
export class DashboardModule {}
