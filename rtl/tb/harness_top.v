`default_nettype none

// harness_top: the fast co-simulation testbench around systolic_top (not part of the design).
// A stimulus memory holds one word per cycle, exactly the port values the per-cycle driver would
// present (the folds' beats merged by the issue rule, idle cycles as zero words); a sequencer
// plays one word a cycle, and a capture memory records every output row with the cycle (from the
// batch's first word) it appeared in. Python (accelsim.rtlsim.harness) writes the stimulus file
// (binary, read with $fread: each word STIM_W/8 bytes, most significant first), pulses go, waits for
// finished and reads the capture file ($writememh): no Python in the per-cycle loop.
//
// Stimulus word, MSB first: {3'b0, stop, dataflow, load, valid, last, b_in, a_in} (lane k of a_in /
// b_in at [k*DATA_W +: DATA_W], as on systolic_top). The word with stop ends the batch; it is played
// as idle. Capture word: {cycle[31:0], 7'b0, c_last, c_out}.
module harness_top #(
    parameter ROWS       = 8,        // PE rows of the array under test
    parameter COLS       = 8,        // PE columns of the array under test
    parameter DATA_W     = 8,        // operand width
    parameter ACC_W      = 32,       // accumulator / output width
    parameter OUT_W      = ACC_W,    // output stage width (its inputs are tied off here)
    parameter STIM_DEPTH = 1 << 20,  // stimulus words (cycles) one batch may hold
    parameter CAP_DEPTH  = 1 << 20   // output rows one batch may capture
) (
    output reg         clk        /*verilator public_flat_rd*/,  // the harness's own clock (10 time units)
    input  wire        rst        /*verilator public_flat_rw*/,
    input  wire        go         /*verilator public_flat_rw*/,  // while idle: load the stimulus file, start a batch
    output reg         running    /*verilator public_flat_rd*/,  // the batch is playing
    output reg         finished   /*verilator public_flat_rd*/,  // one cycle: the stop word has been played
    output reg  [31:0] cap_count  /*verilator public_flat_rd*/,  // output rows captured in the last batch
    output reg         overflow   /*verilator public_flat_rd*/   // the last batch had more rows than CAP_DEPTH
);
    // Only these ports are visible to cocotb (built with --no-public-flat-rw): Verilator optimises the rest.
    // The outputs are read-only (public_flat_rd): a writable output would let Verilator assume any logic
    // depending on it (through running: the whole array) may change from outside, and re-evaluate it on
    // every eval() (~25-30% of the run time).
    /*verilator public_module*/

    // The clock runs inside the simulator (Verilator --timing): no callback into cocotb per edge.
    initial clk = 1'b0;
    always #5 clk = ~clk;

    localparam OP_W   = (ROWS + COLS) * DATA_W;
    localparam STIM_W = 8 + OP_W;
    localparam CAP_W  = 40 + COLS * ACC_W;

    reg  [STIM_W-1:0] stim [0:STIM_DEPTH-1];
    reg  [CAP_W-1:0]  cap  [0:CAP_DEPTH-1];
    reg  [31:0]       t;
    reg  [8*1024-1:0] stim_file;
    reg  [8*1024-1:0] cap_file;

    // The batch's words, back to back in a binary file (a word's STIM_W/8 bytes most significant first).
    task automatic load_stimulus;
        integer fd;
        integer got;
        begin
            fd = $fopen(stim_file, "rb");
            if (fd == 0) $fatal(1, "harness_top: cannot open %0s", stim_file);
            got = $fread(stim, fd);
            if (got == 0) $fatal(1, "harness_top: %0s is empty", stim_file);
            $fclose(fd);
        end
    endtask

    initial begin
        if (!$value$plusargs("stim=%s", stim_file)) stim_file = "stim.bin";
        if (!$value$plusargs("cap=%s", cap_file)) cap_file = "cap.hex";
    end

    wire [STIM_W-1:0] word  = running ? stim[t[$clog2(STIM_DEPTH)-1:0]] : {STIM_W{1'b0}};
    wire              stop  = word[OP_W + 4];

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
        .c_final    (1'b0),
        .psum_in    ({COLS*ACC_W{1'b0}}),
        .bias       ({COLS*32{1'b0}}),
        .m0         ({COLS*32{1'b0}}),
        .shift      ({COLS*6{1'b0}}),
        .act_min    ({OUT_W{1'b0}}),
        .act_max    ({OUT_W{1'b0}}),
        .out_valid  (out_valid),
        .out_last   (out_last),
        .q_out      (q_out)
    );

    wire unused = &{1'b0, done, cycle_count, out_valid, out_last, q_out, word[STIM_W-1:OP_W+5]};

    always @(posedge clk) begin
        if (rst) begin
            running   <= 1'b0;
            finished  <= 1'b0;
            cap_count <= 32'd0;
            overflow  <= 1'b0;
            t         <= 32'd0;
        end else begin
            finished <= 1'b0;
            if (!running && go) begin
                load_stimulus();
                running   <= 1'b1;
                cap_count <= 32'd0;
                overflow  <= 1'b0;
                t         <= 32'd0;
            end else if (running) begin
                if (c_valid) begin
                    if (cap_count < CAP_DEPTH) cap[cap_count[$clog2(CAP_DEPTH)-1:0]] <= {t, 7'b0000000, c_last, c_out};
                    else overflow <= 1'b1;
                    cap_count <= cap_count + 32'd1;
                end
                t <= t + 32'd1;
                if (stop || t == STIM_DEPTH - 1) begin
                    running  <= 1'b0;
                    finished <= 1'b1;
                end
            end
        end
    end

    // The capture memory is complete one cycle after the stop word (its last row was written at that edge).
    always @(posedge clk) begin
        if (finished && cap_count != 32'd0) begin
            $writememh(cap_file, cap, 0, (cap_count > CAP_DEPTH ? CAP_DEPTH : cap_count) - 1);
        end
    end

endmodule

`default_nettype wire
