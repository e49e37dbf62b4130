`default_nettype none

// harness_top: the fast co-simulation testbench around systolic_top (not part of the design).
// A stimulus file holds one word per cycle, exactly the port values the per-cycle driver would
// present (the folds' beats merged by the issue rule, idle cycles as zero words); a sequencer
// plays one word a cycle, and every output row (c_valid) and every int8 row of the output stage
// (out_valid) is captured with the cycle (from the batch's first word) it appeared in. The file
// I/O is DPI-C (harness_io.cpp, compiled into the Verilator build; its header gives the file
// layouts): the stimulus is read with one fread and streamed a word a cycle into a register, the
// captured rows are appended to a buffer written once per batch, and the output stage's per-row
// inputs (c_final, psum_in, bias, m0, shift, act_min, act_max) are presented in the cycle each row
// is on c_out, as the ofmap buffer's side would (docs/microarchitecture.md, "Output stage").
// Python (accelsim.rtlsim.harness) writes the stimulus and stage files, pulses go, waits for
// finished and reads the capture file: no Python in the per-cycle loop.
//
// Stimulus word (bit 0 first): {3'b0, stop, dataflow, load, valid, last, b_in, a_in} (lane k of a_in /
// b_in at [k*DATA_W +: DATA_W], as on systolic_top). The word with stop ends the batch; it is played
// as idle, followed by STAGE_DRAIN idle cycles in which the output stage's last rows leave.
module harness_top #(
    parameter ROWS   = 8,      // PE rows of the array under test
    parameter COLS   = 8,      // PE columns of the array under test
    parameter DATA_W = 8,      // operand width
    parameter ACC_W  = 32,     // accumulator / output width
    parameter OUT_W  = ACC_W   // output stage width (OUT_W < ACC_W: the stage is present)
) (
    output reg         clk        /*verilator public_flat_rd*/,  // the harness's own clock (10 time units)
    input  wire        rst        /*verilator public_flat_rw*/,
    input  wire        go         /*verilator public_flat_rw*/,  // while idle: open the batch's files, start it
    output reg         running    /*verilator public_flat_rd*/,  // the batch is playing
    output reg         finished   /*verilator public_flat_rd*/,  // one cycle: the batch's capture file is written
    output reg  [31:0] cap_count  /*verilator public_flat_rd*/,  // output rows captured in the last batch
    output reg  [31:0] q_count    /*verilator public_flat_rd*/,  // int8 rows captured in the last batch
    output reg         io_error   /*verilator public_flat_rd*/   // the last batch's files could not be read/written
);
    // Only these ports are visible to cocotb (built with --no-public-flat-rw): Verilator optimises the rest.
    // The outputs are read-only (public_flat_rd): a writable output would let Verilator assume any logic
    // depending on it (through running: the whole array) may change from outside, and re-evaluate it on
    // every eval() (~25-30% of the run time).
    /*verilator public_module*/

    // The clock runs inside the simulator (Verilator --timing): no callback into cocotb per edge.
    initial clk = 1'b0;
    always #5 clk = ~clk;

    localparam OP_W        = (ROWS + COLS) * DATA_W;
    localparam STIM_W      = 8 + OP_W;
    localparam [2:0] STAGE_DRAIN = 3;  // the output stage's latency (OUT_STAGE_CYCLES): its last row leaves then

    import "DPI-C" function int harness_open(input string stim_path, input string stage_path,
                                             input string cap_path, input int stim_w, input int cols,
                                             input int acc_w, input int out_w);
    import "DPI-C" function void harness_word(output bit [STIM_W-1:0] word);
    import "DPI-C" function void harness_row(input int t, input bit last, input bit [COLS*ACC_W-1:0] c_out);
    import "DPI-C" function void harness_q(input int t, input bit last, input bit [COLS*OUT_W-1:0] q_out);
    import "DPI-C" function void harness_stage(output bit final_row, output bit [COLS*ACC_W-1:0] psum,
                                               output bit [COLS*32-1:0] bias, output int m0, output int shift,
                                               output int act_min, output int act_max);
    import "DPI-C" function int harness_close();

    string stim_file, stage_file, cap_file;
    initial begin
        if (!$value$plusargs("stim=%s", stim_file)) stim_file = "stim.bin";
        if (!$value$plusargs("stage=%s", stage_file)) stage_file = "stage.bin";
        if (!$value$plusargs("cap=%s", cap_file)) cap_file = "cap.bin";
    end

    reg  [STIM_W-1:0]     word;       // this cycle's stimulus word (0 while idle)
    reg  [31:0]           t;          // cycles since the batch's first word
    reg  [2:0]            drain;      // idle cycles left after the stop word
    reg                   st_final;   // the output stage's inputs for the next row on c_out
    reg  [COLS*ACC_W-1:0] st_psum;
    reg  [COLS*32-1:0]    st_bias;
    reg  [31:0]           st_m0;
    reg  [31:0]           st_shift;
    reg  [31:0]           st_min;
    reg  [31:0]           st_max;
    wire                  stop = word[OP_W + 4];

    wire                  c_valid;
    wire                  c_last;
    wire [COLS*ACC_W-1:0] c_out;
    wire                  done;
    wire [31:0]           cycle_count;
    wire                  out_valid;
    wire                  out_last;
    wire [COLS*OUT_W-1:0] q_out;

    systolic_top #(
        .ROWS  (ROWS),
        .COLS  (COLS),
        .DATA_W(DATA_W),
        .ACC_W (ACC_W),
        .OUT_W (OUT_W)
    ) u_dut (
        .clk        (clk),
        .rst        (rst),
        .dataflow   (word[OP_W + 3]),
        .load       (word[OP_W + 2]),
        .valid      (word[OP_W + 1]),
        .last       (word[OP_W]),
        .a_in       (word[ROWS*DATA_W-1:0]),
        .b_in       (word[OP_W-1:ROWS*DATA_W]),
        .c_valid    (c_valid),
        .c_last     (c_last),
        .c_out      (c_out),
        .done       (done),
        .cycle_count(cycle_count),
        .c_final    (st_final),
        .psum_in    (st_psum),
        .bias       (st_bias),
        .m0         ({COLS{st_m0}}),
        .shift      ({COLS{st_shift[5:0]}}),
        .act_min    (st_min[OUT_W-1:0]),
        .act_max    (st_max[OUT_W-1:0]),
        .out_valid  (out_valid),
        .out_last   (out_last),
        .q_out      (q_out)
    );

    wire unused = &{1'b0, done, cycle_count, word[STIM_W-1:OP_W+5], st_shift[31:6], st_min, st_max};

    // The stage's inputs for the next row (DPI outputs land in these, then in the registers).
    bit                  n_final;
    bit [COLS*ACC_W-1:0] n_psum;
    bit [COLS*32-1:0]    n_bias;
    int                  n_m0, n_shift, n_min, n_max;
    bit [STIM_W-1:0]     n_word;

    task automatic next_stage;
        begin
            harness_stage(n_final, n_psum, n_bias, n_m0, n_shift, n_min, n_max);
            st_final <= n_final;
            st_psum  <= n_psum;
            st_bias  <= n_bias;
            st_m0    <= n_m0;
            st_shift <= n_shift;
            st_min   <= n_min;
            st_max   <= n_max;
        end
    endtask

    always @(posedge clk) begin
        if (rst) begin
            running   <= 1'b0;
            finished  <= 1'b0;
            cap_count <= 32'd0;
            q_count   <= 32'd0;
            io_error  <= 1'b0;
            t         <= 32'd0;
            drain     <= 3'd0;
            word      <= {STIM_W{1'b0}};
            st_final  <= 1'b0;
        end else begin
            finished <= 1'b0;
            if (!running && go) begin
                running   <= 1'b1;
                cap_count <= 32'd0;
                q_count   <= 32'd0;
                t         <= 32'd0;
                drain     <= STAGE_DRAIN;
                io_error  <= harness_open(stim_file, stage_file, cap_file, STIM_W, COLS, ACC_W, OUT_W) == 0;
                harness_word(n_word);
                word <= n_word;
                next_stage();
            end else if (running) begin
                if (c_valid) begin
                    harness_row(t, c_last, c_out);
                    cap_count <= cap_count + 32'd1;
                    next_stage();
                end
                if (out_valid) begin
                    harness_q(t, out_last, q_out);
                    q_count <= q_count + 32'd1;
                end
                t <= t + 32'd1;
                if (stop || io_error) begin
                    word <= {STIM_W{1'b0}};
                    if (drain == 3'd0 || io_error) begin
                        running  <= 1'b0;
                        finished <= 1'b1;
                        if (harness_close() != 0) io_error <= 1'b1;
                    end else begin
                        drain <= drain - 3'd1;
                        word[OP_W + 4] <= 1'b1;  // stays stopped (idle ports) while draining
                    end
                end else begin
                    harness_word(n_word);
                    word <= n_word;
                end
            end
        end
    end

endmodule

`default_nettype wire
