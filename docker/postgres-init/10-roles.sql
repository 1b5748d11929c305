-- Run once by the official postgres image when it creates the database (docker-compose.yml).
-- Each app gets two roles: <app>_owner owns the app's schema and applies its migrations
-- (DDL); <app>_runtime is what the app runs as: it reads and writes the schema's rows, and
-- can change no table. Passwords equal the role names: a local setup, not a production one.
DO $$
DECLARE
  app record;
BEGIN
  FOR app IN SELECT * FROM (VALUES ('coordinator', 'ordo'), ('order', 'orders'), ('inventory', 'inventory'), ('payment', 'payment'))
    AS a (name, schema)
  LOOP
    EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', app.name || '_owner', app.name || '_owner');
    EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', app.name || '_runtime', app.name || '_runtime');
    EXECUTE format('CREATE SCHEMA %I AUTHORIZATION %I', app.schema, app.name || '_owner');
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', app.schema, app.name || '_runtime');
    -- Whatever the owner's migrations create, the runtime role may use, and only that.
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I',
      app.name || '_owner', app.schema, app.name || '_runtime');
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO %I',
      app.name || '_owner', app.schema, app.name || '_runtime');
  END LOOP;
END $$;
