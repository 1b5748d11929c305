import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiError } from '@ordo/platform';
import { CoordinatorConfig } from '../config/coordinator.config';
import { Actor } from '../auth/principal.decorator';
import { RequireRole } from '../auth/roles.decorator';
import { testBody } from './alert';
import { CreateWebhookDto, WebhookList, WebhookTestResult, WebhookView } from './dto/webhook.dto';
import { WebhookRepository } from './webhook.repository';
import { WebhookSender } from './webhook-sender';

const uuid = new ParseUUIDPipe({ version: undefined });
const notFound = (id: string) => new ApiError(HttpStatus.NOT_FOUND, 'WEBHOOK_NOT_FOUND', `no webhook ${id}`);

/**
 * Webhooks that receive alerts (docs/operations.md#alerts). Admin only, reads included: a
 * webhook's URL is often a credential itself. Every change and test is audited.
 */
@ApiTags('alerts')
@ApiBearerAuth()
@Controller('alerts/webhooks')
export class WebhooksController {
  constructor(
    private readonly webhooks: WebhookRepository,
    private readonly sender: WebhookSender,
    private readonly config: CoordinatorConfig,
  ) {}

  @Post()
  @RequireRole('admin')
  @ApiOperation({ summary: 'Add a webhook: the kinds of alerts it receives, and the secret that signs them' })
  @ApiCreatedResponse({ type: WebhookView })
  create(@Body() body: CreateWebhookDto, @Actor() actor: string): Promise<WebhookView> {
    return this.webhooks.create({ ...body, perMinute: body.perMinute ?? this.config.ALERTS_PER_MINUTE }, actor);
  }

  @Get()
  @RequireRole('admin')
  @ApiOperation({ summary: 'List webhooks (without their secrets)' })
  @ApiOkResponse({ type: WebhookList })
  async list(): Promise<WebhookList> {
    return { items: await this.webhooks.list() };
  }

  @Delete(':id')
  @RequireRole('admin')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Remove a webhook, with the alerts still waiting for it' })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiNotFoundResponse({ description: 'WEBHOOK_NOT_FOUND' })
  async remove(@Param('id', uuid) id: string, @Actor() actor: string): Promise<void> {
    if (!(await this.webhooks.delete(id, actor))) throw notFound(id);
  }

  @Post(':id/test')
  @RequireRole('admin')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Send a signed sample alert (kind "test") to the webhook now, once, and tell what it answered',
    description: 'Not retried and not rate-limited: it checks the receiver, its URL and its signature check.',
  })
  @ApiOkResponse({ type: WebhookTestResult })
  @ApiNotFoundResponse({ description: 'WEBHOOK_NOT_FOUND' })
  async test(@Param('id', uuid) id: string, @Actor() actor: string): Promise<WebhookTestResult> {
    const webhook = await this.webhooks.withSecret(id);
    if (!webhook) throw notFound(id);
    const result = await this.sender.send(webhook.url, webhook.secret, testBody(new Date(), this.config.ORDO_PUBLIC_URL ?? ''));
    await this.webhooks.tested(webhook, actor, result);
    return result;
  }
}
