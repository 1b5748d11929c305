import { Module } from '@nestjs/common';
import { DefinitionRepository } from './definition.repository';
import { DefinitionsController } from './definitions.controller';
import { DefinitionsService } from './definitions.service';

/** Definitions over REST; exports the lookup (`findVersion`) that transactions pin versions with. */
@Module({
  controllers: [DefinitionsController],
  providers: [DefinitionsService, DefinitionRepository],
  exports: [DefinitionsService, DefinitionRepository],
})
export class DefinitionsModule {}
