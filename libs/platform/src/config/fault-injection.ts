import { ValidationArguments, ValidatorConstraint, ValidatorConstraintInterface } from 'class-validator';

/**
 * Failure injection (participants' `_fault` and FAULT_* settings, the coordinator's
 * FAULT_CRASH) makes processes slow, flaky or exit on request: for tests and demos only.
 * FAULT_INJECTION turns it on; these rules keep it off where it must not be.
 */
export const FAULT_INJECTION_MODES = ['on', 'off'] as const;
export type FaultInjectionMode = (typeof FAULT_INJECTION_MODES)[number];

const settings = (args: ValidationArguments) => args.object as { NODE_ENV?: string; FAULT_INJECTION?: FaultInjectionMode };

/** FAULT_INJECTION=on is refused when NODE_ENV=production. */
@ValidatorConstraint({ name: 'notInProduction' })
export class NotInProduction implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    return value !== 'on' || settings(args).NODE_ENV !== 'production';
  }

  defaultMessage(): string {
    return 'FAULT_INJECTION=on is refused with NODE_ENV=production (failure injection is for tests and demos)';
  }
}

/** A fault setting given a value (anything but unset or 0) needs FAULT_INJECTION=on. */
@ValidatorConstraint({ name: 'needsFaultInjection' })
export class NeedsFaultInjection implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    return value === undefined || value === 0 || settings(args).FAULT_INJECTION === 'on';
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} needs FAULT_INJECTION=on`;
  }
}
