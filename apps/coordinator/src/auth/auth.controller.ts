import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Principal, ROLES, Role } from '../config/api-keys';
import { CurrentPrincipal } from './principal.decorator';

export class PrincipalView {
  @ApiProperty({ example: 'ops-alice' }) name: string;
  @ApiProperty({ enum: ROLES }) role: Role;
}

@ApiTags('auth')
@ApiBearerAuth()
@Controller('auth')
export class AuthController {
  @Get('me')
  @ApiOperation({ summary: "The caller's key: its name and role (the dashboard shows only what the role allows)" })
  @ApiOkResponse({ type: PrincipalView })
  me(@CurrentPrincipal() principal: Principal): PrincipalView {
    return { name: principal.name, role: principal.role };
  }
}
