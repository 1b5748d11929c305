import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ListQuery } from '@ordo/platform';
import { Product } from './domain/product';
import { ProductList, QueryReservationsDto, ReservationList } from './dto/query-stock.dto';
import { StockService } from './stock.service';

/** Read-only: stock and reservations change only through the place-order saga's commands. */
@ApiTags('stock')
@Controller()
export class StockController {
  constructor(private readonly stock: StockService) {}

  @Get('products')
  @ApiOperation({ summary: 'Products with their stock, by SKU' })
  @ApiOkResponse({ type: ProductList })
  async listProducts(@Query() query: ListQuery): Promise<ProductList> {
    return { items: await this.stock.listProducts(query.limit) };
  }

  @Get('products/:sku')
  @ApiOperation({ summary: 'One product' })
  @ApiOkResponse({ type: Product })
  @ApiNotFoundResponse({ description: 'PRODUCT_NOT_FOUND' })
  getProduct(@Param('sku') sku: string): Promise<Product> {
    return this.stock.getProduct(sku);
  }

  @Get('reservations')
  @ApiOperation({ summary: 'Reservations, newest first' })
  @ApiOkResponse({ type: ReservationList })
  async listReservations(@Query() query: QueryReservationsDto): Promise<ReservationList> {
    return { items: await this.stock.listReservations(query) };
  }
}
