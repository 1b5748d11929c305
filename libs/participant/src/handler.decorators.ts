import 'reflect-metadata';
import { Command, JsonObject, Phase } from '@ordo/protocol';
import { EntityManager } from 'typeorm';

export const COMMAND_HANDLER = Symbol('ordo:command-handler');

export interface HandlerRoute {
  action: string;
  phase: Phase;
  /**
   * Prepare only: the handler's writes are held in a PostgreSQL prepared transaction
   * (PREPARE TRANSACTION) until the decision; the SDK answers commit and abort itself with
   * COMMIT PREPARED / ROLLBACK PREPARED (see prepared-transactions.ts).
   */
  preparedTransaction?: boolean;
}

/** What a handler receives besides the command's input. */
export interface HandlerContext {
  command: Command;
  /**
   * The participant's local database transaction. Business changes made through it
   * commit together with the barrier row, or not at all.
   */
  manager: EntityManager;
}

/**
 * A command handler: returns the step's output (or nothing). Throwing BusinessFailure
 * refuses the command; any other error is transient and the coordinator retries.
 */
export type CommandHandler = (input: JsonObject, context: HandlerContext) => Promise<JsonObject | void>;

/**
 * Marks a provider method as the handler of `action` in `phase`. A method may carry several
 * (e.g. one business operation run as a saga step and as a 2PC prepare).
 */
export const HandleCommand =
  (action: string, phase: Phase, options: Pick<HandlerRoute, 'preparedTransaction'> = {}): MethodDecorator =>
  (_target, _key, descriptor) => {
    const routes = (Reflect.getMetadata(COMMAND_HANDLER, descriptor.value as object) as HandlerRoute[] | undefined) ?? [];
    Reflect.defineMetadata(COMMAND_HANDLER, [...routes, { action, phase, ...options }], descriptor.value as object);
    return descriptor;
  };

// One decorator per phase, so handlers read like the protocol.
export const Execute = (action: string) => HandleCommand(action, 'execute');
export const Compensate = (action: string) => HandleCommand(action, 'compensate');
export const Try = (action: string) => HandleCommand(action, 'try');
export const Confirm = (action: string) => HandleCommand(action, 'confirm');
export const Cancel = (action: string) => HandleCommand(action, 'cancel');
/**
 * `{ preparedTransaction: true }`: the work is done in a PostgreSQL prepared transaction and
 * finished by the decision; no @Commit / @Abort handler is written for the action.
 * Otherwise prepare is an ordinary local transaction that @Commit / @Abort complete or undo.
 */
export const Prepare = (action: string, options: Pick<HandlerRoute, 'preparedTransaction'> = {}) => HandleCommand(action, 'prepare', options);
export const Commit = (action: string) => HandleCommand(action, 'commit');
export const Abort = (action: string) => HandleCommand(action, 'abort');
