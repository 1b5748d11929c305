import { Module } from '@nestjs/common';
import { InDoubtController } from './in-doubt.controller';
import { InDoubtService } from './in-doubt.service';
import { PreparedWorkRepository } from './prepared-work.repository';

/** The in-doubt view of two-phase commit: prepared work the participants report, and "finish now". */
@Module({
  controllers: [InDoubtController],
  providers: [PreparedWorkRepository, InDoubtService],
})
export class InDoubtModule {}
