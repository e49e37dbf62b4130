`default_nettype none

// delay_line: a DEPTH-stage shift register of WIDTH-bit words (DEPTH = 0 is a plain wire).
// The building block of the skew/deskew buffers and of the control pipes of systolic_top.
module delay_line #(
    parameter WIDTH = 8,   // bits per word
    parameter DEPTH = 1    // stages (0: a wire)
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [WIDTH-1:0] d,
    output wire [WIDTH-1:0] q
);

    generate
        if (DEPTH == 0) begin : g_wire
            assign q = d;
            wire unused_clk_rst = &{1'b0, clk, rst};
        end else begin : g_regs
            // The stages are flip-flops (all reset together, all read), never a RAM: mem2reg tells
            // synthesis so, instead of letting it warn that it replaces a memory with registers.
            (* mem2reg *) reg [WIDTH-1:0] stage [0:DEPTH-1];
            integer k;
            always @(posedge clk) begin
                if (rst) begin
                    for (k = 0; k < DEPTH; k = k + 1) stage[k] <= {WIDTH{1'b0}};
                end else begin
                    stage[0] <= d;
                    for (k = 1; k < DEPTH; k = k + 1) stage[k] <= stage[k-1];
                end
            end
            assign q = stage[DEPTH-1];
        end
    endgenerate

endmodule

`default_nettype wire
