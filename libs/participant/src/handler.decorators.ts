import { SetMetadata } from '@nestjs/common';
import { Command, JsonObject, Phase } from '@ordo/protocol';
import { EntityManager } from 'typeorm';

export const COMMAND_HANDLER = Symbol('ordo:command-handler');

export interface HandlerRoute {
  action: string;
  phase: Phase;
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

/** Marks a provider method as the handler of `action` in `phase`. */
export const HandleCommand = (action: string, phase: Phase): MethodDecorator =>
  SetMetadata(COMMAND_HANDLER, { action, phase } satisfies HandlerRoute);

// One decorator per phase, so handlers read like the protocol.
export const Execute = (action: string) => HandleCommand(action, 'execute');
export const Compensate = (action: string) => HandleCommand(action, 'compensate');
export const Try = (action: string) => HandleCommand(action, 'try');
export const Confirm = (action: string) => HandleCommand(action, 'confirm');
export const Cancel = (action: string) => HandleCommand(action, 'cancel');
export const Prepare = (action: string) => HandleCommand(action, 'prepare');
export const Commit = (action: string) => HandleCommand(action, 'commit');
export const Abort = (action: string) => HandleCommand(action, 'abort');
