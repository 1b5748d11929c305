import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsIn, IsInt, IsOptional, IsString, IsUrl, Length, Matches, Max, Min } from 'class-validator';
import { ALERT_KINDS, AlertKind } from '../alert';

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://alerts.example.com/ordo', description: 'Where alerts are POSTed: http or https' })
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }, { message: 'url must be an http or https URL' })
  @Length(1, 2000)
  url: string;

  @ApiProperty({
    example: 'whsec-3f9a1c0d7e5b42a8b6c1',
    description: 'Signs every alert (HMAC-SHA256, header Ordo-Signature); 16 to 200 characters. Never shown again',
  })
  @IsString()
  @Length(16, 200)
  @Matches(/^\S+$/, { message: 'secret must not contain spaces' })
  secret: string;

  @ApiProperty({ enum: ALERT_KINDS, isArray: true, example: ['failed', 'stuck'], description: 'The alerts this webhook receives' })
  @ArrayMinSize(1)
  @ArrayMaxSize(ALERT_KINDS.length)
  @ArrayUnique()
  @IsIn(ALERT_KINDS, { each: true })
  kinds: AlertKind[];

  @ApiPropertyOptional({
    example: 30,
    minimum: 1,
    maximum: 10_000,
    description: 'Alerts per minute at most; the rest are folded into one summary a minute. Default: ALERTS_PER_MINUTE',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  perMinute?: number;
}

export class WebhookView {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'https://alerts.example.com/ordo' })
  url: string;

  @ApiProperty({ enum: ALERT_KINDS, isArray: true })
  kinds: AlertKind[];

  @ApiProperty({ example: 30 })
  perMinute: number;

  @ApiProperty({ example: 'ops-alice', description: 'The API key that added it' })
  createdBy: string;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt: Date;
}

export class WebhookList {
  @ApiProperty({ type: [WebhookView] })
  items: WebhookView[];
}

export class WebhookTestResult {
  @ApiProperty({ description: 'Whether the webhook answered 2xx' })
  delivered: boolean;

  @ApiProperty({ type: Number, nullable: true, example: 200, description: "The webhook's HTTP status; null when it did not answer" })
  status: number | null;

  @ApiProperty({ type: String, nullable: true, example: null, description: 'Why it was not delivered' })
  error: string | null;
}
