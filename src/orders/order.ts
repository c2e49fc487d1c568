export interface Order {
  id: string;
  userId: string;
  item: string;
  quantity: number;
  status: 'placed' | 'shipped';
  createdAt: string;
  shippedAt?: string;
}

export interface PlaceOrderInput {
  item: string;
  quantity: number;
}
