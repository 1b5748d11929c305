import { Body, Controller, Get, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiBearerAuth,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { PageQuery } from '@ordo/platform';
import { Actor } from '../auth/principal.decorator';
import { RequireRole } from '../auth/roles.decorator';
import { DefinitionSummary, StoredDefinition } from './definition.repository';
import { DefinitionsService } from './definitions.service';
import { DefinitionDto, PLACE_ORDER_DEFINITION } from './dto/definition.dto';
import { DefinitionNameParamsDto, DefinitionVersionParamsDto, DiffQueryDto } from './dto/definition-params.dto';
import {
  DefinitionDiffDto,
  DefinitionListDto,
  DefinitionVersionDto,
  DefinitionVersionsDto,
  InvalidDefinitionErrorDto,
} from './dto/definition-response.dto';

const NOT_FOUND = 'DEFINITION_NOT_FOUND: no such definition or version.';

@ApiTags('definitions')
@ApiBearerAuth()
@Controller('definitions')
export class DefinitionsController {
  constructor(private readonly definitions: DefinitionsService) {}

  @Post()
  @RequireRole('admin')
  @ApiOperation({
    summary: 'Register a definition',
    description:
      'Stores the body as the next version of its name. A body equal to the latest version ' +
      '(whatever its key order) registers nothing and returns that version with 200.',
  })
  @ApiBody({
    type: DefinitionDto,
    examples: { 'place-order': { summary: 'A saga of four steps', value: PLACE_ORDER_DEFINITION } },
  })
  @ApiCreatedResponse({ type: DefinitionVersionDto, description: 'Registered as a new version.' })
  @ApiOkResponse({ type: DefinitionVersionDto, description: 'Identical to the latest version, which is returned.' })
  @ApiBadRequestResponse({
    type: InvalidDefinitionErrorDto,
    description: 'INVALID_DEFINITION, listing every problem; BAD_REQUEST for a body that is not JSON.',
  })
  async register(
    // Deliberately no DTO class: the global ValidationPipe would strip or refuse fields
    // before the engine's validator, which reports every problem with its path, sees them.
    @Body() body: unknown,
    @Actor() actor: string,
    @Res({ passthrough: true }) response: FastifyReply,
  ): Promise<StoredDefinition> {
    const { created, stored } = await this.definitions.register(body, actor);
    response.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    return stored;
  }

  @Get()
  @ApiOperation({ summary: 'List definitions with their latest version, by name (keyset pagination)' })
  @ApiOkResponse({ type: DefinitionListDto })
  list(@Query() query: PageQuery): Promise<{ items: DefinitionSummary[]; nextCursor: string | null }> {
    return this.definitions.list(query);
  }

  @Get(':name')
  @ApiOperation({ summary: 'The latest version of a definition' })
  @ApiOkResponse({ type: DefinitionVersionDto })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  latest(@Param() { name }: DefinitionNameParamsDto): Promise<StoredDefinition> {
    return this.definitions.get(name);
  }

  @Get(':name/versions/:version')
  @ApiOperation({ summary: 'One version of a definition' })
  @ApiOkResponse({ type: DefinitionVersionDto })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiBadRequestResponse({ description: 'VALIDATION_FAILED: the version is not an integer from 1.' })
  version(@Param() { name, version }: DefinitionVersionParamsDto): Promise<StoredDefinition> {
    return this.definitions.get(name, version);
  }

  @Get(':name/versions')
  @ApiOperation({ summary: 'Every version of a definition, newest first, with how many transactions run it now (running or compensating)' })
  @ApiOkResponse({ type: DefinitionVersionsDto })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async versions(@Param() { name }: DefinitionNameParamsDto): Promise<DefinitionVersionsDto> {
    return { items: await this.definitions.versions(name) };
  }

  @Get(':name/diff')
  @ApiOperation({
    summary: 'What changed between two versions of a definition',
    description: 'Steps are matched by id: added, removed, or changed field by field; the fields outside the steps apart.',
  })
  @ApiOkResponse({ type: DefinitionDiffDto })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiBadRequestResponse({ description: 'VALIDATION_FAILED: from or to missing, or not an integer from 1.' })
  diff(@Param() { name }: DefinitionNameParamsDto, @Query() { from, to }: DiffQueryDto): Promise<DefinitionDiffDto> {
    return this.definitions.diff(name, from, to);
  }
}
