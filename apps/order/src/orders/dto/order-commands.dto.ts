import { IsOptional, IsUUID } from 'class-validator';
import { PlaceOrderDto } from './place-order.dto';

/**
 * Input of `create` (place-order step create-order): the transaction input. With
 * `orderId`, the order was placed with POST /api/v1/orders and is taken up, not created.
 */
export class CreateOrderInput extends PlaceOrderDto {
  @IsOptional()
  @IsUUID()
  orderId?: string;
}

/** Input of `confirm` (place-order step confirm-order). */
export class ConfirmOrderInput {
  @IsUUID()
  orderId: string;
}
