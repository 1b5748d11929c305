import { HttpStatus, ValidationError, ValidationPipe } from '@nestjs/common';
import { ApiError } from './http-error.filter';

function flatten(errors: ValidationError[], parent = ''): { path: string; message: string }[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({ path, message }));
    return [...own, ...flatten(e.children ?? [], path)];
  });
}

/** class-validator on every DTO; every problem is listed in the 400's details. */
export function validationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    exceptionFactory: (errors) => {
      const details = flatten(errors);
      return new ApiError(HttpStatus.BAD_REQUEST, 'VALIDATION_FAILED', details.map((d) => `${d.path}: ${d.message}`).join('; '), details);
    },
  });
}
