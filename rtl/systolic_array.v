// systolic_array: ROWS x COLS systolic_pe grid, PE(i, j) in g_row[i].g_col[j].
// Operands arrive already skewed: a_left[i] enters row i from the left, b_top[j] enters column j
// from the top; w_top[j] feeds column j's stationary-weight chain (unskewed); acc_bottom[j] is the
// accumulator/psum register of the bottom PE of column j. Lane k of each edge vector is at bits
// [k*W +: W]. PEs are linked by per-PE wires declared in their own generate scope.
module systolic_array #(
    parameter ROWS   = 8,
    parameter COLS   = 8,
    parameter DATA_W = 8,
    parameter ACC_W  = 32
) (
    input  wire                    clk,
    input  wire                    rst,
    input  wire                    dataflow,
    input  wire                    load,
    input  wire                    drain,
    input  wire [ROWS*DATA_W-1:0]  a_left,
    input  wire [COLS*DATA_W-1:0]  b_top,
    input  wire [COLS*DATA_W-1:0]  w_top,
    output wire [COLS*ACC_W-1:0]   acc_bottom
);

    genvar i, j;
    generate
        for (i = 0; i < ROWS; i = i + 1) begin : g_row
            for (j = 0; j < COLS; j = j + 1) begin : g_col
                wire [DATA_W-1:0] a_in;
                wire [DATA_W-1:0] b_in;
                wire [DATA_W-1:0] w_in;
                wire [ACC_W-1:0]  acc_in;
                wire [DATA_W-1:0] a_out;
                wire [DATA_W-1:0] b_out;
                wire [DATA_W-1:0] w_out;
                wire [ACC_W-1:0]  acc_out;

                if (j == 0) begin : g_left
                    assign a_in = a_left[i*DATA_W +: DATA_W];
                end else begin : g_inner_a
                    assign a_in = g_row[i].g_col[j-1].a_out;
                end

                if (i == 0) begin : g_top
                    assign b_in   = b_top[j*DATA_W +: DATA_W];
                    assign w_in   = w_top[j*DATA_W +: DATA_W];
                    assign acc_in = {ACC_W{1'b0}};
                end else begin : g_inner_b
                    assign b_in   = g_row[i-1].g_col[j].b_out;
                    assign w_in   = g_row[i-1].g_col[j].w_out;
                    assign acc_in = g_row[i-1].g_col[j].acc_out;
                end

                if (j == COLS - 1) begin : g_right
                    wire unused_a_out = &{1'b0, a_out};
                end

                if (i == ROWS - 1) begin : g_bottom
                    assign acc_bottom[j*ACC_W +: ACC_W] = acc_out;
                    wire unused_b_w_out = &{1'b0, b_out, w_out};
                end

                systolic_pe #(
                    .DATA_W(DATA_W),
                    .ACC_W (ACC_W)
                ) u_pe (
                    .clk     (clk),
                    .rst     (rst),
                    .dataflow(dataflow),
                    .load    (load),
                    .drain   (drain),
                    .a_in    (a_in),
                    .b_in    (b_in),
                    .w_in    (w_in),
                    .acc_in  (acc_in),
                    .a_out   (a_out),
                    .b_out   (b_out),
                    .w_out   (w_out),
                    .acc_out (acc_out)
                );
            end
        end
    endgenerate

endmodule
