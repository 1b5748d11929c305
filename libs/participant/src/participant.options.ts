export interface ParticipantOptions {
  /** The participant's name; it receives commands on `<prefix><name>.commands`. */
  name: string;
}

export const PARTICIPANT_OPTIONS = Symbol('ParticipantOptions');
