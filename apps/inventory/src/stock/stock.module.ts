import { Module } from '@nestjs/common';
import { StockRepository } from './infrastructure/persistence/stock.repository';
import { StockController } from './stock.controller';
import { StockService } from './stock.service';

@Module({
  controllers: [StockController],
  providers: [StockService, StockRepository],
})
export class StockModule {}
